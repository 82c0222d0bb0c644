"""See a sweep after the fact: its data as frames, pictures, a self-contained HTML report, and `hpo ls`."""
from orchestrator.report.build import REPORT_FILE, Report, write_report
from orchestrator.report.leaderboard import leaderboard
from orchestrator.report.listing import SweepSummary, format_table, list_sweeps
from orchestrator.report.sweep_data import SweepData, load_sweep

__all__ = ["REPORT_FILE", "Report", "SweepData", "SweepSummary", "format_table", "leaderboard", "list_sweeps",
           "load_sweep", "write_report"]

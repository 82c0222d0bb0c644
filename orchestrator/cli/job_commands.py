"""`hpo submit`, `hpo status`, `hpo logs`, `hpo stop`: sweeps as Ray jobs on a remote cluster."""
from __future__ import annotations

import argparse
import sys
from datetime import datetime

from orchestrator.dashboard import DEFAULT_HOST, DEFAULT_PORT
from orchestrator.errors import UserInputError
from orchestrator.jobs import JobInfo, JobsClient, follow_logs, submit_sweep, wait_until_done
from orchestrator.jobs.follow import exit_code, failure_note

STOP_WAIT_S = 90.0   # the sweep saves its state first (RAY_JOB_STOP_WAIT_TIME_S, 60 s)
ADDRESS_HELP = ("the cluster's Jobs API (its dashboard), e.g. http://HEAD:8265 "
                "(default: RAY_API_SERVER_ADDRESS or RAY_ADDRESS)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the job commands to the `hpo` parser."""
    submit = subparsers.add_parser(
        "submit", help="launch a sweep as a Ray job on a remote cluster",
        description="Run `hpo run SPEC` on a Ray cluster's head node as a Ray job. The spec, the spec's "
                    "runtime_env.working_dir and py_modules travel with the job; pip requirements and env_vars "
                    "are installed and set there. Prints the job id and the dashboard URL. Token auth: "
                    "RAY_AUTH_TOKEN or ~/.ray/auth_token.")
    submit.add_argument("spec", help="the sweep's YAML file")
    _address(submit)
    submit.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a spec key, e.g. search.num_samples=8 (repeatable)")
    submit.add_argument("--resume", action="store_true",
                        help="continue the sweep stored at <storage>/<name> (e.g. after hpo stop)")
    submit.add_argument("--fresh", action="store_true", help="replace an existing sweep of the same name")
    submit.add_argument("--follow", action="store_true",
                        help="stream the sweep's output until it ends; exit 0 only if it succeeded")
    submit.set_defaults(func=cmd_submit)

    status = subparsers.add_parser("status", help="show a submitted sweep's state",
                                   description="Print a submitted sweep's job status, times and dashboard page.")
    _job(status)
    status.set_defaults(func=cmd_status)

    logs = subparsers.add_parser("logs", help="print a submitted sweep's output",
                                 description="Print what the sweep's driver printed (progress, best config).")
    _job(logs)
    logs.add_argument("--follow", "-f", action="store_true",
                      help="keep printing until the job ends; exit 0 only if it succeeded")
    logs.set_defaults(func=cmd_logs)

    stop = subparsers.add_parser("stop", help="stop a submitted sweep",
                                 description="Stop a submitted sweep: Ray Tune ends it saving its state (resume it with "
                                             "`hpo submit SPEC --resume`); waits until the job ended.")
    _job(stop)
    stop.add_argument("--no-wait", action="store_true", help="return once the stop was requested")
    stop.set_defaults(func=cmd_stop)


def _address(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", metavar="URL", help=ADDRESS_HELP)


def _job(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job_id", metavar="JOB", help="the job id `hpo submit` printed")
    _address(parser)


def cmd_submit(args: argparse.Namespace) -> int:
    if args.resume and args.fresh:
        raise UserInputError("--resume and --fresh exclude each other")
    flags = [flag for flag, on in (("--resume", args.resume), ("--fresh", args.fresh)) if on]
    job = submit_sweep(args.spec, address=args.address, overrides=args.overrides, run_flags=flags)
    print(f"submitted sweep {job.sweep_name} as job {job.job_id}")
    print(f"dashboard: {job.job_url} (asks for a token? `ray get-auth-token` on the cluster prints it)")
    print(f"sweep page: hpo dashboard {job.storage}, then open "
          f"http://{DEFAULT_HOST}:{DEFAULT_PORT}/sweeps/{job.sweep_name}")
    if job.storage_note:
        print(f"note: {job.storage_note}", file=sys.stderr)
    if not args.follow:
        print(f"follow it: hpo logs {job.job_id} --follow --address {job.address}")
        return 0
    return _followed(JobsClient(args.address), job.job_id)


def cmd_status(args: argparse.Namespace) -> int:
    client = JobsClient(args.address)
    info = client.info(args.job_id)
    for label, value in _status_lines(info):
        print(f"{label + ':':<11}{value}")
    print(f"{'dashboard:':<11}{client.dashboard_url(info.job_id)}")
    _print_failure_note(info)
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    client = JobsClient(args.address)
    if args.follow:
        return _followed(client, args.job_id)
    sys.stdout.write(client.logs(args.job_id))
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    client = JobsClient(args.address)
    if not client.stop(args.job_id):
        print(f"job {args.job_id} had already ended: {client.info(args.job_id).status}")
        return 0
    if args.no_wait:
        print(f"stop requested for job {args.job_id}")
        return 0
    info = wait_until_done(client, args.job_id, timeout_s=STOP_WAIT_S)
    print(f"job {args.job_id}: {info.status}")
    return 0 if info.status == "STOPPED" else 1


def _followed(client: JobsClient, job_id: str) -> int:
    """Stream a job's output to its end; report its final state on stderr."""
    try:
        info = follow_logs(client, job_id, sys.stdout)
    except KeyboardInterrupt:
        print(f"\nhpo: stopped following; job {job_id} keeps running (hpo stop {job_id} to stop it)",
              file=sys.stderr)
        return 130
    print(f"job {job_id}: {info.status}" + (f" ({info.message})" if info.message and info.status != "SUCCEEDED"
                                            else ""), file=sys.stderr)
    _print_failure_note(info)
    return exit_code(info)


def _print_failure_note(info: JobInfo) -> None:
    note = failure_note(info)
    if note:
        print(f"hpo: {note}", file=sys.stderr)


def _status_lines(info: JobInfo) -> list[tuple[str, str]]:
    lines = [("job", info.job_id), ("status", info.status)]
    if "hpo_sweep" in info.metadata:
        lines.append(("sweep", f"{info.metadata['hpo_sweep']} (spec {info.metadata.get('hpo_spec', '?')})"))
    if info.entrypoint:
        lines.append(("entrypoint", info.entrypoint))
    for label, stamp in (("started", info.start_time), ("ended", info.end_time)):
        if stamp:
            lines.append((label, datetime.fromtimestamp(stamp).astimezone().isoformat(timespec="seconds")))
    if info.message:
        lines.append(("message", info.message))
    return lines

"""A live, read-only web page over the sweeps of a storage root (`hpo dashboard`, `hpo run --dashboard`)."""

DEFAULT_PORT = 8266
DEFAULT_HOST = "127.0.0.1"   # this machine only, unless told otherwise

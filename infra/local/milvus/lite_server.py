"""Runs `milvus-lite server ARGS` with SIGTERM and SIGINT mapped to KeyboardInterrupt, the only
path on which it stops its gRPC server gracefully and closes its database (a process started
in the background may inherit SIGINT ignored, and SIGTERM would skip the close)."""
import signal
import sys


def _interrupt(*_):
    raise KeyboardInterrupt


signal.signal(signal.SIGINT, _interrupt)
signal.signal(signal.SIGTERM, _interrupt)

from milvus_lite.cmdline import main  # noqa: E402

sys.exit(main(sys.argv[1:]))

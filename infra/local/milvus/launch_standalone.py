"""Starts the Milvus 2.3 standalone binary shipped in PyPI's `milvus` package as one process.

Uses the package's own configuration and extraction code, then exec()s `milvus run standalone`
so that this pid is the server (embedded etcd, rocksmq and local storage run inside it).
usage: launch_standalone.py DATA_DIR GRPC_PORT
"""
import os
import sys
from os.path import join

import milvus

data_dir = os.path.abspath(sys.argv[1])
grpc_port = int(sys.argv[2])

cfg = milvus.MilvusServerConfig(data_dir=data_dir)
# explicit internal ports: the defaults put queryCoord on 19531
cfg.update(proxy_port=grpc_port, etcd_port=2379, proxy_internal_port=19529, root_coord_port=53100,
           query_coord_port=19631, query_node_port=21123, index_coord_port=22930, index_node_port=21121,
           data_coord_port=13333, data_node_port=21124)
for comp in ("rootCoord", "proxy", "queryCoord", "queryNode", "indexCoord", "indexNode", "dataCoord", "dataNode"):
    cfg.set(f"{comp}.ip", "127.0.0.1")
# the default graceful stop can wait 1800 s while the proxy retries stopped coordinators
cfg.set("common.gracefulStopTimeout", 10)
# seal growing segments only when full: with the default (0.23) a 1M-item publish sealed five
# ~200k-row segments, indexed each, then had them merged and indexed again after the switch; the
# publish also turns automatic compaction off for its own collections (docs/decisions.md, Recall
# API: "Full segments")
cfg.set("dataCoord.segment.sealProportion", 1.0)
cfg.resolve()
milvus._initialize_data_files(data_dir)

exe = join(data_dir, "bin", "milvus")
env = os.environ.copy()
env.update(DEPLOY_MODE="STANDALONE", METRICS_PORT="9091", MILVUS_RUN_DIR=join(data_dir, "run"),
           LD_LIBRARY_PATH=join(data_dir, "bin") + ":" + env.get("LD_LIBRARY_PATH", ""))
os.chdir(data_dir)
os.execve(exe, [exe, "run", "standalone"], env)

"""Logs go through `logging` to one rotating file."""

import logging

from runtime.logs import log_to


def test_log_to_writes_the_packages_records_to_a_file_that_rotates(tmp_path):
    handler = log_to(tmp_path / "logs" / "netcanvas.log", max_bytes=300, backups=2)
    try:
        for i in range(20):
            logging.getLogger("runtime.train.trainer").info("epoch %d done", i)
        handler.flush()
        assert "epoch 19 done" in (tmp_path / "logs" / "netcanvas.log").read_text()
        assert (tmp_path / "logs" / "netcanvas.log.1").exists()
        assert not (tmp_path / "logs" / "netcanvas.log.3").exists()
    finally:
        for name in ("app", "runtime", "graph_builder"):
            logging.getLogger(name).removeHandler(handler)
        handler.close()

"""One small module per library: how ``bench/workload.py`` enqueues its jobs and starts its
workers, through the library's own public API. Each runs only inside its library's venv."""

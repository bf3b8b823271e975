"""A FastAPI app that enqueues async jobs through AsyncQueue and reads their results.

    cd examples/fastapi_app
    minirq worker --worker-class async --concurrency 50 texts     # terminal 1
    uvicorn app:app --port 8000                                   # terminal 2

    curl -X POST localhost:8000/jobs -H 'content-type: application/json' \\
         -d '{"text": "to be or not to be"}'                      # {"id": "..."}
    curl 'localhost:8000/jobs/<id>?wait=5'                        # waits up to 5 s

Redis is $REDIS_URL's (default redis://localhost:6379/0). No handler blocks the event
loop: AsyncQueue and AsyncJob speak redis.asyncio.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio
from fastapi import FastAPI, HTTPException, Query
from pydantic import BaseModel, Field
from tasks import count_words

from minirq import AsyncQueue
from minirq.results import Result

QUEUE_NAME = "texts"


class TextIn(BaseModel):
    text: str = Field(min_length=1, max_length=100_000)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    client = redis.asyncio.Redis.from_url(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
    app.state.queue = AsyncQueue(QUEUE_NAME, connection=client)
    try:
        yield
    finally:
        await client.aclose()


app = FastAPI(title="minirq async example", lifespan=lifespan)


@app.post("/jobs", status_code=202)
async def create_job(body: TextIn) -> dict[str, str]:
    job = await app.state.queue.enqueue(count_words, body.text)
    return {"id": job.id}


@app.get("/jobs/{job_id}")
async def read_job(job_id: str, wait: float = Query(0, ge=0, le=30)) -> dict[str, Any]:
    """The job's status and, once it ended, its result or error; with ``wait``, up to
    that many seconds for it to end (woken when it does, not polled)."""
    queue: AsyncQueue = app.state.queue
    job = await queue.fetch_job(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id} in queue {QUEUE_NAME}")
    result = await job.latest_result(timeout=wait)
    status = await job.get_status()
    answer: dict[str, Any] = {"id": job.id, "status": status.value if status else None}
    if result is not None and result.type is Result.Type.SUCCESSFUL:
        answer["result"] = result.return_value
    elif result is not None:
        answer["error"] = (result.exc_string or "").strip().splitlines()[-1:]
    return answer

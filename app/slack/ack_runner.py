"""Answering Slack the moment a listener calls `ack()`, and keeping its post-ack work to finish it.

Bolt's async runner starts a listener as a task and then polls `ack.response` every 10 ms; while
it sleeps, the post-ack work of earlier commands holds the loop, and the ack waits behind it. Here
the ack itself wakes the request (an event, not a poll). The post-ack tasks are kept so that a
shutdown can let them finish (a deploy restart must not drop an audit entry or a card).
A listener marked `@deferred` is not run here at all: its request goes to the job runners
(app/slack/deferral.py), and comes back here marked as replayed, to run from start to end.

This replaces `AsyncApp`'s listener runner, a private attribute of slack-bolt 1.x: the test suite
runs every listener through it, so an incompatible Bolt release fails loudly there.
"""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.listener.async_listener import AsyncListener
from slack_bolt.listener.asyncio_runner import AsyncioListenerRunner
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from app.slack.deferral import REPLAYED, defer, should_defer
from app.slack.replays import REPLAY_OUTCOME, ReplayOutcome, is_rerunnable


class _SignallingAck(AsyncAck):
    """An `ack()` that also wakes the request waiting to answer Slack."""

    def __init__(self) -> None:
        super().__init__()
        self.called = asyncio.Event()

    async def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        response = await super().__call__(*args, **kwargs)
        self.called.set()
        return response


class PromptAckRunner(AsyncioListenerRunner):
    def __init__(self, base: AsyncioListenerRunner) -> None:
        super().__init__(
            logger=base.logger,
            process_before_response=base.process_before_response,
            listener_error_handler=base.listener_error_handler,
            listener_start_handler=base.listener_start_handler,
            listener_completion_handler=base.listener_completion_handler,
            lazy_listener_runner=base.lazy_listener_runner,
        )
        self.pending: set[asyncio.Task[None]] = set()

    async def run(  # type: ignore[override]
        self,
        request: AsyncBoltRequest,
        response: BoltResponse,
        listener_name: str,
        listener: AsyncListener,
        starting_time: float | None = None,
    ) -> BoltResponse | None:
        if self.process_before_response or request.lazy_only or listener.lazy_functions:
            return await super().run(request, response, listener_name, listener, starting_time)
        if should_defer(listener, request):
            acked = await defer(request)
            if acked is not None:
                return acked
        ack = _SignallingAck()
        request.context["ack"] = ack
        if request.context.get(REPLAYED):  # run by a job: no one waits for the ack, the job waits for the end
            outcome: ReplayOutcome | None = request.context.get(REPLAY_OUTCOME)
            if outcome is not None:
                outcome.ran, outcome.rerunnable = True, is_rerunnable(listener.ack_function)
            await self._run_listener(request, response, listener, ack)
            return ack.response
        if listener.auto_acknowledgement:  # Events API: Slack only needs to know it arrived
            await ack()
        task = asyncio.create_task(self._run_listener(request, response, listener, ack))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)
        woken = asyncio.create_task(ack.called.wait())
        try:
            await asyncio.wait({task, woken}, timeout=listener.ack_timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
        if ack.response is None:
            self.logger.warning(f"{listener_name} did not call ack() within {listener.ack_timeout} s")
        return ack.response

    async def _run_listener(
        self, request: AsyncBoltRequest, response: BoltResponse, listener: AsyncListener, ack: _SignallingAck
    ) -> None:
        try:
            await self.listener_start_handler.handle(request=request, response=response)
            await listener.run_ack_function(request=request, response=response)
        except Exception as error:
            outcome: ReplayOutcome | None = request.context.get(REPLAY_OUTCOME)
            if outcome is not None:  # the job that replays it decides: retry, or tell the person
                outcome.error = error
            failed: BoltResponse | None = None if ack.response is not None else BoltResponse(status=500)
            await self.listener_error_handler.handle(error=error, request=request, response=failed)
            if ack.response is None:
                ack.response = failed
                ack.called.set()
        finally:
            await self.listener_completion_handler.handle(request=request, response=response)

    async def drain(self, timeout_s: float) -> int:
        """Let post-ack work finish (at most `timeout_s`); how many tasks were still running after it."""
        if not self.pending:
            return 0
        _, still = await asyncio.wait(set(self.pending), timeout=timeout_s)
        return len(still)


async def drain_listeners(app: Any, timeout_s: float = 25.0) -> int:
    """Finish the post-ack work of `app` (a Bolt AsyncApp built by build_slack_app) before shutting down."""
    runner = getattr(app, "_async_listener_runner", None)
    return await runner.drain(timeout_s) if isinstance(runner, PromptAckRunner) else 0

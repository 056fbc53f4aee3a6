"""The faust app built to start promptly: its options, and what faust spent before the first record (issue 17).

From ``sparktriage worker`` starting to its first record consumed should
cost the broker's group join and little more. Five costs of faust-streaming
stood on that path, whatever the broker answers:

- its table manager sleeps one second before it lets the consumer subscribe,
  for tables declared late to register; ``ingest.app.create_app`` declares
  every table before the worker starts, so the sleep only delays the join;
- its consumer long-polls with a fixed 1.5 s fetch wait, and a broker answers
  one connection's requests in order, so each offset request of the
  recovery (high waters, earliest offsets, the seek) queued behind an empty
  fetch: about 2.5 s after every assignment on Tansu. A fetch returns as soon
  as records are there, so a shorter wait costs only a few more empty
  fetches a second while the topic is idle;
- its RocksDB store collects garbage once per table at every rebalance,
  walking every object the process holds;
- after an assignment its consumer fetched every changelog partition from its
  first offset, before the recovery sought each where RocksDB left it;
- after a SIGKILL, opening each table replayed up to 192 MiB of RocksDB's
  write-ahead log (``table_options``).

And one cost stood on the path of every record once the worker was busy: the
leader-election topic faust subscribes every app to (one partition, never
written; nothing here elects a leader, so ``topic_disable_leader``). aiokafka
keeps one fetch in flight per broker, and once a fetched batch has waited
``prefetch_backoff`` (0.1 s) for the agent, it fetches the partitions that hold
nothing buffered on their own: that empty partition, which the broker holds
for the whole fetch wait, while the input partitions' next batch queued
behind it. With batches of 100-line records (0.1 s or more of work each)
this happened at every batch: faust's decode-only agent reached about a third
of a core at 1.5 s waits. An input partition with no traffic still does this;
the wait below bounds what it costs. And faust's fetch loop handed every
record to the streams' queues under a ``wait_first`` of four tasks; here a
hand-over that need not wait is made in place (``_PromptConsumer._drain_messages``).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine, Generator
from typing import Any

import aiokafka
import faust
from aiokafka.consumer.fetcher import OffsetResetStrategy
from faust._cython import streams as faust_streams
from faust.tables import TableManager
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_kafka

from sparktriage.settings import Settings

#: the consumer's fetch wait (faust fixes 1,500 ms): what an offset request may queue behind
FETCH_MAX_WAIT_MS = 100

#: RocksDB's memtable size per table partition (faust's default 64 MiB). After a SIGKILL, opening a table
#: replays the writes its memtables held (the write-ahead log) before the recovery can read it: up to three
#: 64 MiB buffers, about 0.25 s a partition and 1.5-1.7 s for the worker's six. A small buffer is flushed
#: to disk often, in RocksDB's own threads, and leaves a few MiB to replay.
TABLE_WRITE_BUFFER = 4 * 1024 * 1024


def table_options() -> dict[str, Any]:
    """The RocksDB options of each table (a new dict each: faust's store pops keys out of the one it gets)."""
    return {"write_buffer_size": TABLE_WRITE_BUFFER}


class PromptTableManager(TableManager):
    """faust's table manager without the second it sleeps before the consumer subscribes, and whose
    rebalances do not walk every object the process holds."""

    async def on_start(self) -> None:
        if not self.should_stop:
            await self._update_channels()
            await self.recovery.start()

    async def on_rebalance(self, assigned: set, revoked: set, newly_assigned: set, generation_id: int = 0) -> None:
        # faust's RocksDB store runs gc.collect() for each table at every rebalance, on the way to the first
        # fetch: what the process holds by then (libraries, rules, the model being read, the tables' own
        # objects) is moved out of those collections (it took seconds of the first join before); the
        # worker's start ran without collections (sparktriage.commands.stream), which resume here
        gc.freeze()
        gc.enable()
        await super().on_rebalance(assigned, revoked, newly_assigned, generation_id)


#: records handed over between two turns of the event loop (faust's own figure)
_YIELD_EVERY = 100


class _Started:
    """The rest of a coroutine that ``started`` ran up to its first wait: awaiting this finishes it."""

    __slots__ = ("coro", "yielded")

    def __init__(self, coro: Coroutine[Any, Any, Any], yielded: Any) -> None:
        self.coro, self.yielded = coro, yielded

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, yielded = self.coro, self.yielded
        while True:
            try:
                sent = yield yielded  # the future the coroutine waits on, to the task that awaits this
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # noqa: BLE001 - a cancellation goes on into the coroutine
                try:
                    yielded = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    yielded = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


def started(coro: Coroutine[Any, Any, Any]) -> _Started | None:
    """Run ``coro`` until it first waits: None if it finished without waiting (its exception raised
    here), else what finishes it when awaited (in a task of its own: ``wait_first``)."""
    try:
        yielded = coro.send(None)
    except StopIteration:
        return None
    return _Started(coro, yielded)


class _PromptConsumerThread(faust_kafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read when the consumer starts its fetcher
        return consumer


class _PromptRebalanceListener(faust_kafka.ConsumerRebalanceListener):
    async def on_partitions_assigned(self, assigned: Any) -> None:
        # Before faust's recovery seeks each changelog partition where its table needs it (RocksDB holds the
        # rest), the consumer would fetch them from their first offset: after a restart, megabytes of
        # changelog read for nothing, with the recovery's offset requests queued behind. They start at their
        # end instead; a seek made meanwhile wins over this reset (aiokafka applies a reset only if no seek
        # came first).
        changelogs = self._thread.app.tables.changelog_topics
        tps = [tp for tp in assigned if tp.topic in changelogs]
        if tps:
            self._thread._ensure_consumer()._fetcher.request_offset_reset(tps, OffsetResetStrategy.LATEST)
        await super().on_partitions_assigned(assigned)


class _PromptConsumer(faust_kafka.Consumer):
    RebalanceListener = _PromptRebalanceListener

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - faust's loop, one step changed
        """faust's fetch loop (``faust.transport.consumer.Consumer._drain_messages``), but a record whose
        hand-over to the streams' queues completes without waiting costs no task: faust awaited
        ``wait_first(callback(message), suspend_flow.wait())`` for every record, four tasks made, waited on
        and three cancelled, about 70 µs of the ~100 µs a record cost a decode-only agent. Only a hand-over
        that waits (a full queue, flow control) is finished under faust's ``wait_first``, so a rebalance
        that suspends the flow still interrupts it as before."""
        callback = self.callback
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set
        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        acks_enabled_for = self.app.topics.acks_enabled_for
        num_since_yield = 0
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                self.diag.set_flag(CONSUMER_FETCHING)
                ait = self.getmany(timeout=1.0)
                await self.sleep(0)  # getmany may return at once, again and again
                if not self.should_stop:
                    async for tp, message in ait:
                        num_since_yield += 1
                        if num_since_yield > _YIELD_EVERY:  # the agent runs on what the queue holds by now
                            await asyncio.sleep(0)
                            num_since_yield = 0
                        offset = message.offset
                        r_offset = get_read_offset(tp)
                        if r_offset is None or offset >= r_offset:
                            gap = offset - (r_offset or 0)
                            if gap > 1 and r_offset and acks_enabled_for(message.topic):
                                await self._add_gap(tp, r_offset + 1, offset)
                            if self._commit_every is not None and self._n_acked >= self._commit_every:
                                self._n_acked = 0
                                await self.commit()
                            waiting = started(callback(message))
                            if waiting is not None:
                                await self.wait_first(waiting, self.suspend_flow.wait())
                            set_read_offset(tp, offset)
                    self.diag.unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)

    def _new_consumer_thread(self) -> faust_kafka.AIOKafkaConsumerThread:
        return _PromptConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _PromptTransport(faust_kafka.Transport):
    Consumer = _PromptConsumer


class _Turns:
    """``asyncio.sleep`` for faust's stream iterator, which awaits ``sleep(0)`` before every event it takes:
    a turn of the event loop (a poll of the selector, every ready callback) per record, twice for a stream
    of a stream, so its queue emptied one record a turn while the fetch loop filled it a hundred at a time,
    and most hand-overs then waited. Here every ``every``-th such call turns the loop (timers, heartbeats and
    the fetch loop still run at least that often) and the others return at once."""

    def __init__(self, every: int) -> None:
        self.every, self.calls = every, 0

    def __call__(self, delay: float, result: Any = None) -> Any:
        if delay > 0:
            return asyncio.sleep(delay, result)
        self.calls += 1
        if self.calls >= self.every:
            self.calls = 0
            return asyncio.sleep(0)
        return _AT_ONCE


class _AtOnce:
    """An awaitable that completes at once (with None)."""

    def __await__(self) -> Generator[Any, Any, None]:
        return iter(())  # type: ignore[return-value]


_AT_ONCE = _AtOnce()


def use_prompt_consumer(app: faust.App) -> None:
    """Give ``app`` the consumer above (its fetch wait, changelogs read from their end) and streams that take
    events without a turn of the event loop each (``_Turns``, for every faust stream of the process); before
    anything reaches ``app.transport`` (declaring a topic does). ``bench.faust_floor`` runs its agent on it too."""
    app.transport = _PromptTransport(app.conf.broker_consumer, app)
    faust_streams.sleep = _Turns(_YIELD_EVERY)


def faust_app(settings: Settings) -> faust.App:
    """The worker's faust app, before its topics, tables and agent are declared (``ingest.app.create_app``)."""
    options: dict[str, Any] = {}
    if settings.producer_max_batch_size is not None:
        options["producer_max_batch_size"] = settings.producer_max_batch_size
    app = faust.App(
        settings.group,
        broker=[f"kafka://{server}" for server in settings.bootstrap.split(",")],
        # Table state on local disk (RocksDB through rocksdict): a restart reads the changelog only from
        # where this disk left it, instead of replaying every application ever seen (memory://).
        store="rocksdb://",
        topic_partitions=settings.partitions,
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=min(3.0, settings.session_timeout / 3),
        consumer_auto_offset_reset="earliest",
        processing_guarantee="at_least_once",
        stream_wait_empty=False,  # unacknowledged lines wait for their checkpoint, not for a rebalance
        web_enabled=False,  # the worker's port serves sparktriage.metrics instead
        datadir=f"{settings.data_dir}/faust",
        # a dead letter carries the original record base64-encoded: room for the largest accepted one
        producer_max_request_size=2 * settings.max_line_bytes + 1024 * 1024,
        # table writes of consecutive records share produce requests (faust's default sends each at once:
        # a request per changelog write made the socket writes a third of the worker's time with batches)
        producer_linger=0.005,
        TableManager=PromptTableManager,
        topic_disable_leader=True,  # no leader-election topic: an empty partition in every fetch (above)
        **options,
    )
    use_prompt_consumer(app)
    return app

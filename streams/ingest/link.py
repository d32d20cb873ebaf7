"""One downlink link of one pass: its byte stream in (CADUs or plain packets), chunks and
events out, resumable.

A :class:`LinkSession` is what every input feeds (the TCP listener per connection, the
object-store watcher per object, a CADU file):

- **format**: ``"cadu"`` decodes the stream (:class:`~streams.ingest.cadu.CaduLink`: one
  ``raw-chunks`` channel per virtual channel, holes and gap events); ``"isp"`` passes
  the Level-0 packet stream through unchanged as the ``raw-chunks`` channel numbered like
  the link; ``"auto"`` buffers the first ``detect_bytes`` octets and decides with
  :func:`sar.downlink.detect_framing` (CADUs of any CCSDS interleaving depth) then
  :func:`sar.downlink.detect_format` (a plausible Sentinel-1 packet); a stream that is
  neither after four times that many octets is passed through as packets (the
  assembler's packet scanner resynchronises on garbage and reports it) with a
  ``corrupt`` event.
- **missing input**: :meth:`LinkSession.skip_input` says link octets never arrived (a
  station resuming after a reconnect further than the adapter had): plain packets get a
  source gap in the chunk stream (offsets are link offsets); a CADU decoder notices the
  frames missing by their counters by itself.
- **checkpoint**: :meth:`LinkSession.checkpoint` (after :meth:`LinkSession.flush`) is a
  small JSON document: link octets received, the format and framing found, each
  channel's chunk numbering, and (CADU) the last :data:`~streams.ingest.cadu.WARMUP_BYTES`
  octets of input to rebuild the decoder state (:meth:`CaduLink.warm_up`);
  :meth:`LinkSession.restore` continues from it with byte-identical chunks.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Literal

from sar.downlink import FramingParameters, SyncParameters, detect_format, detect_framing
from streams._infra.errors import ChunkError
from streams.ingest.cadu import WARMUP_BYTES, CaduLink, Hole, LinkOutput, downlink_event
from streams.ingest.publisher import ChannelPosition, ChunkPublisher
from streams.messages.events import EventRecord

if TYPE_CHECKING:
    from streams._infra.bus import KafkaProducer
    from streams.ingest import IngestSettings

__all__ = [
    "DETECT_BYTES", "InputFormat", "LinkSession", "link_options", "new_publisher", "positions_of",
]  # fmt: skip

InputFormat = Literal["auto", "cadu", "isp"]

DETECT_BYTES = 16 * 1024
"""Octets looked at to tell CADUs from packets (several CADUs of the longest layout)."""

CHECKPOINT_VERSION = 1


def positions_of(state: Mapping[str, Any]) -> dict[int, ChannelPosition]:
    """Channel positions stored in a :meth:`LinkSession.checkpoint`."""
    try:
        return {int(k): ChannelPosition.from_dict(v) for k, v in state["positions"].items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ChunkError(f"malformed link checkpoint: {exc}") from exc


class LinkSession:
    """One link (X-band channel) of one pass.

    Parameters
    ----------
    publisher
        Where the link's channels go (its own producer; one thread at a time).
    link
        Link number (the ``raw-chunks`` channel of a plain packet stream).
    fmt
        ``"auto"``, ``"cadu"`` or ``"isp"``.
    framing, sync
        CADU layout and synchroniser tuning (``"auto"`` keeps every field of
        ``framing`` but the interleaving depth, which it detects).
    vc_channels
        Virtual channel -> ``raw-chunks`` channel (empty: the VC id).
    claim
        Asked once per output channel before its first byte; ``False`` (another link of
        the pass already writes that channel) drops the channel's data with an event.
    detect_bytes
        Octets buffered before deciding the format when ``fmt`` is ``"auto"``.
    warmup_bytes
        Octets of CADU input kept for a checkpoint.
    parallel
        Reed-Solomon over numba threads.
    """

    def __init__(
        self,
        publisher: ChunkPublisher,
        *,
        link: int,
        fmt: InputFormat = "auto",
        framing: FramingParameters | None = None,
        sync: SyncParameters | None = None,
        vc_channels: Mapping[int, int] | None = None,
        claim: Callable[[int], bool] | None = None,
        detect_bytes: int = DETECT_BYTES,
        warmup_bytes: int = WARMUP_BYTES,
        parallel: bool = False,
    ) -> None:
        self.publisher = publisher
        self.link = link
        self.requested: InputFormat = fmt
        self.framing = framing or FramingParameters()
        self.sync = sync
        self.vc_channels = dict(vc_channels or {})
        self.claim = claim
        self.detect_bytes = detect_bytes
        self.warmup_bytes = warmup_bytes
        self.parallel = parallel
        self.format: Literal["cadu", "isp"] | None = None if fmt == "auto" else fmt
        self.received = 0
        self.ended = False
        self.cadu: CaduLink | None = None
        self._pending = bytearray()
        self._tail = bytearray()
        self._claimed: dict[int, bool] = {}
        if self.format == "cadu":
            self._start_cadu(self.framing, 0)

    @property
    def station(self) -> str:
        """Station of the pass."""
        return self.publisher.station

    @property
    def pass_id(self) -> str:
        """Pass id."""
        return self.publisher.pass_id

    # ------------------------------------------------------------------ input

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Take the next octets of the link stream (blocks on back-pressure)."""
        if self.ended:
            raise ChunkError(f"{self.station}/{self.pass_id} link {self.link}: data after end")
        if not len(data):
            return
        self.received += len(data)
        if self.format is None:
            self._pending += data
            if len(self._pending) >= self.detect_bytes:
                self._detect(final=False)
            return
        self._consume(bytes(data))

    def skip_input(self, n_bytes: int) -> None:
        """``n_bytes`` octets of the link stream are missing before the next ones."""
        if n_bytes <= 0:
            return
        self.received += n_bytes
        if self.format is None:
            self._detect(final=True)
        if self.format == "isp" and self._allowed(self.link):
            self.publisher.skip(self.link, n_bytes)
        elif self.cadu is not None:
            self.cadu.input_base += n_bytes
            self._tail.clear()

    def flush(self) -> None:
        """Cut every channel's buffered bytes into chunks now (latency, checkpoints)."""
        self.publisher.flush()

    def finish(self) -> None:
        """End of the pass on this link: decode what is left, flag each channel's last
        chunk, and wait until everything is acknowledged."""
        if self.ended:
            return
        if self.format is None:
            self._detect(final=True)
        if self.cadu is not None:
            self._apply(self.cadu.finish())
            channels = list(self.publisher.positions())
        else:
            channels = [self.link]
        for ch in channels:
            if (
                self._allowed(ch)
                and not self.publisher.positions().get(ch, ChannelPosition()).ended
            ):
                self.publisher.end(ch)
        self.ended = True
        self.publisher.wait()

    # ------------------------------------------------------------------ checkpoints

    def checkpoint(self) -> dict[str, Any]:
        """JSON-compatible state to resume from (call :meth:`flush` and wait first)."""
        return {
            "version": CHECKPOINT_VERSION,
            "link": self.link,
            "format": self.format,
            "framing": asdict(self.cadu.params) if self.cadu is not None else None,
            "received": self.received,
            "ended": self.ended,
            "positions": {str(k): v.to_dict() for k, v in self.publisher.positions().items()},
            "tail": base64.b64encode(bytes(self._tail)).decode("ascii"),
            "output_counts": (
                {str(k): v for k, v in self.cadu.output_counts.items()}
                if self.cadu is not None
                else {}
            ),
            "pending": base64.b64encode(bytes(self._pending)).decode("ascii"),
        }

    @classmethod
    def restore(
        cls, state: Mapping[str, Any], publisher: ChunkPublisher, **options: Any
    ) -> LinkSession:
        """Continue a link from :meth:`checkpoint` output; ``publisher`` must have been
        made with :func:`positions_of` ``(state)``; ``options`` as for the constructor.

        Raises
        ------
        ChunkError
            If the checkpoint is malformed or of another version.
        """
        try:
            if int(state["version"]) != CHECKPOINT_VERSION:
                raise ChunkError(f"link checkpoint version {state['version']} not supported")
            fmt = state["format"]
            options = dict(options)
            options["fmt"] = fmt if fmt is not None else options.get("fmt", "auto")
            if state["framing"] is not None:
                options["framing"] = FramingParameters(**state["framing"])
            self = cls(publisher, link=int(state["link"]), **options)
            self.received = int(state["received"])
            self.ended = bool(state["ended"])
            tail = base64.b64decode(state["tail"])
            counts = {int(k): int(v) for k, v in state.get("output_counts", {}).items()}
            self._pending = bytearray(base64.b64decode(state["pending"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ChunkError(f"malformed link checkpoint: {exc}") from exc
        if self.cadu is not None:
            self.cadu.input_base = self.received
            self.cadu.warm_up(tail, counts)
            self._tail = bytearray(tail)
        return self

    # ------------------------------------------------------------------ internals

    def _start_cadu(self, params: FramingParameters, input_base: int) -> None:
        self.format = "cadu"
        self.cadu = CaduLink(
            self.link, params, self.sync, vc_channels=self.vc_channels, station=self.station,
            parallel=self.parallel, input_base=input_base,
        )  # fmt: skip

    def _detect(self, *, final: bool) -> None:
        head = bytes(self._pending)
        if not head:
            if self.requested == "cadu":
                self._start_cadu(self.framing, self.received)
            else:
                self.format = "isp"
            return
        if self.requested == "cadu":
            found: Literal["cadu", "isp"] | None = "cadu"
        else:
            framing = detect_framing(head, self.framing)
            found = "cadu" if framing is not None else detect_format(head, self.framing)
            if framing is not None:
                self.framing = framing
        if found is None and not final and len(head) < 4 * self.detect_bytes:
            return
        self._pending = bytearray()
        base = self.received - len(head)
        if found == "cadu":
            self._start_cadu(self.framing, base)
        else:
            self.format = "isp"
            if found is None and head:
                self.publisher.event(EventRecord(
                    kind="corrupt", source=f"{self.station}/{self.pass_id}/L{self.link}",
                    detail={"origin": "ingest", "link": self.link, "byte_start": base,
                            "reason": f"neither CADUs nor packets in the first {len(head)} "
                                      "octets: passed through as packets"},
                ))  # fmt: skip
        if head:
            self._consume(head)

    def _consume(self, data: bytes) -> None:
        if self.cadu is None:
            if self._allowed(self.link):
                self.publisher.write(self.link, data)
            return
        self._tail += data
        if len(self._tail) > self.warmup_bytes:
            del self._tail[: len(self._tail) - self.warmup_bytes]
        self._apply(self.cadu.feed(data))

    def _allowed(self, channel: int) -> bool:
        ok = self._claimed.get(channel)
        if ok is None:
            ok = self.claim(channel) if self.claim is not None else True
            self._claimed[channel] = ok
            if not ok:
                self.publisher.event(EventRecord(
                    kind="corrupt", source=self.publisher.key(channel),
                    detail={"origin": "ingest", "link": self.link, "channel": channel,
                            "reason": f"channel {channel} is already written by another link "
                                      "of this pass: its data on this link is dropped"},
                ))  # fmt: skip
        return ok

    def _apply(self, out: LinkOutput) -> None:
        """Publish a decoder output: bytes, holes (with their events), other gaps."""
        pub = self.publisher
        for channel, items in out.items.items():
            if not self._allowed(channel):
                continue
            for item in items:
                if isinstance(item, Hole):
                    stream_range = pub.skip(channel, item.n_bytes)
                    for gap in item.gaps:
                        pub.event(downlink_event(
                            gap, station=pub.station, pass_id=pub.pass_id, link=self.link,
                            channel=channel, stream_range=stream_range,
                        ))  # fmt: skip
                else:
                    pub.write(channel, item)
        assert self.cadu is not None
        for gap in out.gaps:
            ch = self.cadu.channel_of(gap.vcid) if gap.vcid is not None else None
            pub.event(downlink_event(
                gap, station=pub.station, pass_id=pub.pass_id, link=self.link, channel=ch,
            ))  # fmt: skip


def link_options(settings: IngestSettings) -> dict[str, Any]:
    """:class:`LinkSession` options from the ingest settings (format, framing, mapping)."""
    return {
        "fmt": settings.format,
        "framing": settings.framing.parameters(),
        "sync": settings.framing.sync(),
        "vc_channels": settings.vc_channels,
        "detect_bytes": settings.detect_bytes,
        "warmup_bytes": settings.warmup_bytes,
    }


def new_publisher(
    settings: IngestSettings,
    producer: KafkaProducer,
    *,
    pass_id: str,
    relative_orbit: int | None = None,
    positions: Mapping[int, ChannelPosition] | None = None,
) -> ChunkPublisher:
    """A :class:`ChunkPublisher` for one link of one pass, from the ingest settings."""
    return ChunkPublisher(
        producer, station=settings.station, pass_id=pass_id,
        topic=settings.topics.raw_chunks, events_topic=settings.topics.events,
        chunk_size=settings.chunk_size, max_in_flight=settings.max_in_flight,
        max_in_flight_bytes=settings.max_in_flight_bytes, max_outage_s=settings.max_outage_s,
        relative_orbit=relative_orbit if relative_orbit is not None else settings.relative_orbit,
        positions=positions,
    )  # fmt: skip

"""The batch document pipeline: render (JSON copy embedded) -> sign -> atomic write -> manifest.

Statements and dunning letters both go through here, so both get the same guarantees a
cron job needs:

* every file is written atomically; a failure for one customer is recorded and the batch
  goes on;
* reruns are safe and diffable: renders are deterministic, and the manifest records the
  SHA-256 of the unsigned content, so a rerun over unchanged data leaves the existing
  (signed) file untouched, byte for byte -- even though a new signature would carry a new
  signing time; ``force`` rewrites;
* documents are assembled and rendered chunk by chunk (a few hundred customers), and
  ``jobs > 1`` runs whole chunks -- data assembly, rendering, signing -- in worker
  processes, each loading the signing key once; no process holds the payloads of the
  whole batch (10,000 statements: 170 MB at the peak instead of 700 MB);
* ``manifest.csv`` and ``manifest.json`` list every document and every skipped or failed
  customer with the reason, so nobody silently drops out of a scheduled run.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import hashlib
import io
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from arcli import forkpool, heap
from arcli.fileio import (
    StagedFiles,
    atomic_write,
    locked_file,
    move_aside,
    remove_leftovers,
)
from arcli.output import Report, machine_value
from arcli.render.model import Attachment

_MANIFEST_JSON, _MANIFEST_CSV = "manifest.json", "manifest.csv"
MANIFEST_COLUMNS = ["customer", "currency", "kind", "status", "reason", "closing_balance",
                    "file", "pages", "sha256", "content_sha256", "signed", "error"]


@dataclass(frozen=True)
class Job:
    """One document to produce. ``payload`` is the plain data its renderer takes."""

    customer_id: str
    currency: str | None
    kind: str  # statement | letter
    file_name: str
    payload: Any
    amounts: tuple[tuple[str, Decimal], ...] = ()  # (currency, closing balance / total due)


@dataclass
class JobResult:
    customer_id: str
    currency: str | None
    kind: str
    status: str  # written | unchanged | skipped | failed | withdrawn
    file: str = ""
    reason: str = ""
    pages: int | None = None
    sha256: str = ""
    content_sha256: str = ""
    signed: bool = False
    error: str = ""
    amounts: tuple[tuple[str, Decimal], ...] = ()

    def manifest_rows(self) -> list[dict]:
        """One row per currency of the document (a statement may have several)."""
        base = {"customer": self.customer_id, "currency": self.currency, "kind": self.kind,
                "status": self.status, "reason": self.reason, "closing_balance": None,
                "file": self.file, "pages": self.pages, "sha256": self.sha256,
                "content_sha256": self.content_sha256, "signed": self.signed,
                "error": self.error}
        if not self.amounts:
            return [base]
        return [{**base, "currency": cur, "closing_balance": amount}
                for cur, amount in self.amounts]


@dataclass(frozen=True)
class PipelineOptions:
    """How to finish documents: where, signed or not, forced, with which fonts/templates."""

    out_dir: Path
    signing: Any = None  # arcli.signing.SigningConfig or None
    render_options: Any = None  # arcli.render.statement.RenderOptions
    force: bool = False
    jobs: int = 1


def skipped(customer_id: str, currency: str | None, kind: str, reason: str) -> JobResult:
    return JobResult(customer_id, currency, kind, "skipped", reason=reason)


def failed(customer_id: str, currency: str | None, kind: str, error: str) -> JobResult:
    return JobResult(customer_id, currency, kind, "failed", reason=error, error=error)


#: Where withdrawn documents go, inside the output folder.
WITHDRAWN_FOLDER = "withdrawn"


def withdrawn(out_dir: Path, customer_id: str, currency: str | None, kind: str, file: str,
              sha256: str, reason: str) -> JobResult:
    """A document no longer to be sent: its file moved into ``withdrawn/`` (kept as it was
    recorded, out of the folder `send` mails from), its manifest row marked withdrawn."""
    moved = move_aside(out_dir / file, WITHDRAWN_FOLDER) if file else None
    if moved is None and file:
        reason = f"{reason}; {file} was not in {out_dir}"
    return JobResult(customer_id, currency, kind, "withdrawn", reason=reason,
                     file=moved.relative_to(out_dir).as_posix() if moved else "",
                     sha256=sha256 if moved else "")


# -- the per-document work (runs in workers) -------------------------------------------------
_WORKER: dict[str, Any] = {}


def _renderers() -> dict[str, tuple]:
    """Per kind: the renderer, the JSON copy it embeds, and that file's name."""
    from arcli.render.letter import letter_attachment, render_letter
    from arcli.render.statement import render_statement, statement_json_bytes

    return {"statement": (render_statement, statement_json_bytes, "statement.json"),
            "letter": (render_letter, letter_attachment, "letter.json")}


def _init_worker(options: PipelineOptions) -> None:
    _WORKER.clear()
    _WORKER["options"] = options
    _WORKER["renderers"] = _renderers()
    if options.signing is not None:
        from arcli.render.statement import DEFAULT_OPTIONS
        from arcli.signing import PdfSigningKey

        _WORKER["key"] = PdfSigningKey(options.signing)
        # a signed document's signature block says it is signed, by whom and when
        _WORKER["options"] = dataclasses.replace(options, render_options=dataclasses.replace(
            options.render_options or DEFAULT_OPTIONS, signed=True))


def _produce(job: Job, previous: dict | None, files: StagedFiles) -> JobResult:
    """Render (and sign) one job's document and stage its file in ``files``; the result
    says "written" once :func:`_committed` has put the file in place."""
    options: PipelineOptions = _WORKER["options"]
    result = JobResult(job.customer_id, job.currency, job.kind, "written", job.file_name,
                       amounts=job.amounts)
    try:
        render, attachment, attachment_name = _WORKER["renderers"][job.kind]
        kwargs = {} if options.render_options is None else {"options": options.render_options}
        data = attachment(job.payload)
        rendered = render(job.payload, attachment=Attachment(
            attachment_name, data, f"{job.kind} data (arcli)"), **kwargs)
        digest = hashlib.sha256(rendered.pdf)
        unsigned_sha256 = digest.copy().hexdigest()  # the file's, when it is not signed
        digest.update(b"\0")
        digest.update(data)
        content = digest.hexdigest()
        result.pages, result.content_sha256 = rendered.pages, content
        target = options.out_dir / job.file_name
        key = _WORKER.get("key")
        if not options.force and _unchanged(target, previous, content, key is not None):
            result.status, result.sha256 = "unchanged", previous["sha256"]
            result.signed = _was_signed(previous)
            return result
        pdf, sha256 = rendered.pdf, unsigned_sha256
        if key is not None:
            pdf = key.sign(pdf, rendered.signature_box)
            result.signed, sha256 = True, hashlib.sha256(pdf).hexdigest()
        files.stage(target, pdf)
        result.sha256 = sha256
    except Exception as exc:
        result.status, result.error = "failed", f"{type(exc).__name__}: {exc}"
        result.file = ""
    return result


def _was_signed(previous: dict) -> bool:
    return previous.get("signed") in (True, "yes")


def _unchanged(target: Path, previous: dict | None, content: str, signing: bool) -> bool:
    """Whether the file on disk is this document as it should be: same content, and
    signed when this run signs (an unsigned file from a run without signing is signed
    now, not left as it was)."""
    if not previous or previous.get("content_sha256") != content or not target.is_file():
        return False
    if signing and not _was_signed(previous):
        return False
    return hashlib.sha256(target.read_bytes()).hexdigest() == previous.get("sha256")


# -- the batch ------------------------------------------------------------------------------
def read_manifest(out_dir: Path) -> dict[str, dict]:
    """Rows of an existing manifest.json by file name (empty when there is none); a file
    of several currencies has one row each, with the same hashes."""
    return {r["file"]: r for r in _manifest_rows(out_dir) if r.get("file")}


def _manifest_rows(out_dir: Path) -> list[dict]:
    """Every row of an existing manifest.json (empty when there is none)."""
    try:
        rows = json.loads((out_dir / _MANIFEST_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


Assemble = Callable[[Any], Iterable[Job | JobResult]]


def run_batch(jobs: Sequence[Job], options: PipelineOptions) -> Iterator[JobResult]:
    """Produce every job's document; yields results in job order as they complete."""
    return run_assembled(_as_given, chunked(_one_file_each(jobs), options.jobs), options)


def _one_file_each(jobs: Sequence[Job]) -> list[Job | JobResult]:
    """The jobs, those sharing a file name with another (as a case-insensitive file system
    sees it) failed instead: writing either would overwrite the other's document."""
    from arcli.naming import name_key

    counts = Counter(name_key(job.file_name) for job in jobs)
    return [job if counts[name_key(job.file_name)] == 1 else failed(
        job.customer_id, job.currency, job.kind,
        f"another document of this run has the file name {job.file_name}; "
        "put the fields that tell them apart in the file-name template")
        for job in jobs]


def _as_given(chunk: Sequence[Job]) -> Sequence[Job]:
    return chunk


def chunked(items: Sequence, jobs: int, largest: int = 250) -> list[Sequence]:
    """``items`` in consecutive chunks: about eight per worker (so a slow chunk does not
    leave the other workers idle at the end), at most ``largest`` items each (memory
    stays flat)."""
    size = max(1, min(largest, -(-len(items) // (8 * max(jobs, 1)))))
    return [items[i:i + size] for i in range(0, len(items), size)]


def run_assembled(assemble: Assemble, chunks: Sequence[Any], options: PipelineOptions,
                  ) -> Iterator[JobResult]:
    """Produce the documents that ``assemble`` makes of each chunk; results in order.

    ``assemble(chunk)`` yields :class:`Job` s, and :class:`JobResult` s for customers that
    get no document (skipped, failed). With ``jobs > 1`` each chunk is assembled *and*
    rendered in a worker process, so gathering the data of 10,000 statements (seconds of
    queries and Python objects) runs in parallel too instead of before the first document
    can start, and no process holds the payloads of the whole batch.
    """
    options.out_dir.mkdir(parents=True, exist_ok=True)
    previous = read_manifest(options.out_dir)
    with heap.frozen():
        if options.jobs <= 1 or len(chunks) < 2:
            _init_worker(options)
            for chunk in chunks:
                yield from _results(_paired(assemble(chunk), previous))
        else:
            yield from _in_workers(assemble, chunks, previous, options)


def _paired(items: Iterable[Job | JobResult],
            previous: dict[str, dict]) -> Iterator[tuple[Job | JobResult, dict | None]]:
    """Each job with its file's row in the previous run's manifest (results of customers
    that get no document pass with None)."""
    for item in items:
        yield item, None if isinstance(item, JobResult) else previous.get(item.file_name)


#: How many documents are made durable together (see :class:`StagedFiles`): results
#: come out in steps of this many, so a progress bar still moves every second or so.
_COMMIT_EVERY = 64


def _results(pairs: Iterable[tuple[Job | JobResult, dict | None]]) -> Iterator[JobResult]:
    files, held = StagedFiles(), []
    try:
        for item, previous in pairs:
            held.append(item if isinstance(item, JobResult) else _produce(item, previous, files))
            if len(files) >= _COMMIT_EVERY:
                yield from _committed(held, files)
                held = []
        yield from _committed(held, files)
    finally:
        files.discard()


def _committed(results: list[JobResult], files: StagedFiles) -> list[JobResult]:
    """``results`` once their staged files are in place; a file that could not be made
    durable fails its customer (the file is not there), like an error in rendering."""
    failures = files.commit()
    for result in results:
        exc = failures.get(_WORKER["options"].out_dir / result.file) if result.file else None
        if exc is not None:
            result.status, result.error = "failed", f"{type(exc).__name__}: {exc}"
            result.file, result.sha256 = "", ""
    return results


#: What a batch tells the user when one of its worker processes dies.
_BATCH_STOPPED = ("the documents written before stay, nothing was recorded; run the command "
                  "again (with fewer --jobs if memory is short)")


def _in_workers(assemble: Assemble, chunks: Sequence[Any], previous: dict[str, dict],
                options: PipelineOptions) -> Iterator[JobResult]:
    """Spread the chunks over forked worker processes, results in chunk order.

    The workers inherit the assembler, the chunks and the manifest, so only chunk
    numbers and results cross the process boundary (pickling 1,000 statements cost
    ~0.3 s of CPU); each loads the signing key once.
    """
    chunk_results = forkpool.ordered_map(
        _chunk, range(len(chunks)), (assemble, chunks, previous), workers=options.jobs,
        setup=functools.partial(_init_worker, options), if_a_worker_dies=_BATCH_STOPPED)
    with contextlib.closing(chunk_results):  # stops the workers if this ends early
        for results in chunk_results:
            yield from results


def _chunk(index: int) -> list[JobResult]:
    assemble, chunks, previous = forkpool.job()
    return list(_results(_paired(assemble(chunks[index]), previous)))


def write_manifest(out_dir: Path, results: list[JobResult], merge: bool = True) -> None:
    """Write manifest.csv and manifest.json atomically; keep rows of files not in this run.

    Reading, merging and writing happen under a lock on the folder: hosts running their
    shards into one shared folder finish at about the same time, and without it the
    later writer dropped the rows the other had just written. Under the same lock go the
    temporary files that a killed earlier run left beside this run's documents and the
    manifests (this run holds its customers' batch lock, so nobody else writes them).
    """
    with locked_file(out_dir / ".manifest.lock"):
        written = {r.file for r in results if r.file}
        remove_leftovers(out_dir, written | {_MANIFEST_JSON, _MANIFEST_CSV})
        _write_manifest(out_dir, results, merge)


def _write_manifest(out_dir: Path, results: list[JobResult], merge: bool) -> None:
    rows = [row for r in results for row in r.manifest_rows()]
    if merge:
        rows = _kept_rows(out_dir, rows) + rows
    plain = [{k: _manifest_value(r.get(k)) for k in MANIFEST_COLUMNS} for r in rows]
    atomic_write(out_dir / _MANIFEST_JSON,
                 json.dumps(plain, ensure_ascii=False, indent=1) + "\n")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, MANIFEST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in plain:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    atomic_write(out_dir / _MANIFEST_CSV, buffer.getvalue())


def _kept_rows(out_dir: Path, rows: list[dict]) -> list[dict]:
    """The previous manifest's rows a partial run (``--customer``, a shard) leaves alone.

    A document's row stays while its file exists and this run did not rewrite it -- every
    currency of it: a statement file has one row per currency, and keying the old rows by
    file kept only the last. A row without a file (skipped, failed) stays unless this run
    has a row of its own for that customer, currency and kind.
    """
    files = {r["file"] for r in rows if r["file"]}
    decided = {(r["customer"], r["currency"], r["kind"]) for r in rows}
    kept = []
    for row in _manifest_rows(out_dir):
        name = row.get("file")
        if name:
            if name not in files and (out_dir / name).is_file():
                kept.append(row)
        elif (row.get("customer"), row.get("currency"), row.get("kind")) not in decided:
            kept.append(row)
    return kept


def _manifest_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return machine_value(value)


def results_report(results: list[JobResult], amount_label: str = "closing_balance") -> Report:
    """The summary printed on stdout (same columns as the manifest, minus internals)."""
    columns = ["customer", "currency", "kind", "status", "reason", amount_label, "file",
               "pages", "sha256", "signed", "error"]
    rows = []
    for r in results:
        for row in r.manifest_rows():
            row[amount_label] = row.pop("closing_balance")
            rows.append(row)
    return Report(columns, rows)


@dataclass
class BatchSummary:
    """Counts for the closing message and the exit code."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, result: JobResult) -> None:
        self.counts[result.status] = self.counts.get(result.status, 0) + 1

    @property
    def failed(self) -> int:
        return self.counts.get("failed", 0)

    def __str__(self) -> str:
        order = ("written", "unchanged", "skipped", "failed")
        text = ", ".join(f"{self.counts.get(k, 0)} {k}" for k in order)
        withdrawn = self.counts.get("withdrawn")
        return f"{text}, {withdrawn} withdrawn" if withdrawn else text

"""``neuralogram data standin`` (the offline stand-in corpus) and ``neuralogram data audioset`` (download and pack).

Book: ``book/04_data.ipynb``.
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from ..audio import PAPER_SR
from ..cache import param_hash

__all__ = ["register"]


def register(subparsers) -> None:
    """Add ``data`` and its sources to the ``neuralogram`` command.

    Book: ``book/04_data.ipynb``.
    """
    data = subparsers.add_parser("data", help="make or download corpora").add_subparsers(dest="data_command",
                                                                                        metavar="SOURCE")
    _add_standin(data)
    _add_audioset(data)


def _standin(args) -> int:
    from ..data.standin import corpus  # imported here: the generator needs the SoundFont and espeak-ng

    if args.out:
        path = corpus.generate_standin(args.out, n_clips=args.clips, seed=args.seed, clip_seconds=args.seconds)
    else:
        path = corpus.standin_corpus(args.clips, args.seed, args.seconds)
    print(path)
    return 0


def _add_standin(subparsers) -> None:
    """``neuralogram data standin``: generate (or find in the cache) the stand-in corpus."""
    p = subparsers.add_parser("standin", help="generate the offline stand-in corpus",
                              description="Generate the stand-in corpus (SoundFont instruments, espeak-ng speech, "
                                          "synthesised classes in AudioSet's label space) and print its path.",
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--clips", type=int, default=4000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seconds", type=float, default=4.0, help="length of each clip")
    p.add_argument("-o", "--out", default=None, help="write here instead of the cache")
    p.set_defaults(func=_standin, prog=p.prog)


def _summary(title: str, r: dict) -> str:
    lines = [f"{title}: {r.get('available', 0)} of {r['requested']} clips available "
             f"({r['already_present']} already there, {r['downloaded']} new), "
             f"{len(r['missing'])} missing, {len(r['failed'])} failed"]
    for f in r["failed"][:5]:
        lines.append(f"    failed {f['ytid']}: {f['error']}")
    if len(r["failed"]) > 5:
        lines.append(f"    ... {len(r['failed']) - 5} more in the report")
    return "\n".join(lines)


def _audioset(args) -> int:
    from ..data.audioset import (SUBSETS, download_clips, download_huggingface, fetch_metadata, fetch_youtube_clip,
                                 pack, read_labels, read_segments, scan_local)
    from ..data.audioset.download import _AUDIO_DIR, _write_report

    """``neuralogram data audioset``: fetch the metadata, download the clips, pack them; print and save the
    reports. Returns the exit status."""
    out = Path(args.out)
    meta = out / "metadata"
    if args.source == "local" and not args.local_dir:
        raise SystemExit("--source local needs --local-dir DIR (a folder of audio files named by YTID)")
    if args.source == "youtube" and not args.skip_download:
        import importlib.util
        if not (shutil.which("yt-dlp") or importlib.util.find_spec("yt_dlp")):
            raise SystemExit("--source youtube needs yt-dlp: pip install yt-dlp")
        if not shutil.which("ffmpeg"):
            raise SystemExit("--source youtube needs ffmpeg on the PATH (yt-dlp uses it to cut and convert)")
    if args.source == "huggingface" and not args.skip_download:
        import importlib.util
        if not importlib.util.find_spec("datasets"):
            raise SystemExit("--source huggingface needs the 'datasets' package: pip install datasets")
    files = SUBSETS[args.subset]
    hashes = fetch_metadata(meta, names=["class_labels_indices.csv", *files.values(), "ontology.json"],
                            copy_from=args.metadata_dir)
    labels = read_labels(meta / "class_labels_indices.csv")
    seg_lists = {}
    for split, fname in files.items():
        segs = read_segments(meta / fname, labels=labels, errors="skip")
        print(segs.report.summary())
        seg_lists[split] = (fname, segs[: args.limit] if args.limit else segs)
    dl = {"metadata_sha256": hashes, "source": args.source, "splits": {}}
    dirs = {}
    for split, (fname, segs) in seg_lists.items():
        folder = Path(args.local_dir) if args.source == "local" else out / "audio" / _AUDIO_DIR[fname]
        dirs[split] = (segs, folder)
        if args.skip_download or args.source == "local":
            r = scan_local(segs, folder) if folder.is_dir() else {
                "requested": len(segs), "already_present": 0, "downloaded": 0,
                "missing": sorted({s.ytid for s in segs}), "failed": [], "available": 0}
        elif args.source == "youtube":
            r = download_clips(segs, folder, fetch=fetch_youtube_clip, workers=args.workers)
        else:
            r = download_huggingface(fname, folder, wanted=[s.ytid for s in segs], workers=args.workers)
        print(_summary(f"{fname} ({args.source})", r))
        dl["splits"][split] = r
    _write_report(out / "download_report.json", dl)
    print(f"download report: {out / 'download_report.json'}")
    if args.no_pack:
        return 0
    params = {"subset": args.subset, "source": args.source, "limit": args.limit, "sr": PAPER_SR,
              "silence_db": args.silence_db, "metadata_sha256": hashes,
              "n_segments": {s: len(v[1]) for s, v in seg_lists.items()}}
    store_path = out / f"audioset-{args.subset}-8k-{param_hash(params)}.h5"
    rep = pack(dirs, labels, store_path, workers=args.workers, silence_db=args.silence_db,
               source=f"audioset-{args.subset}", params=params, report_path=out / "pack_report.json")
    rej = {k: len(v) for k, v in rep["rejected"].items() if v}
    print(f"packed {rep['kept']} clips into {store_path}; rejected {rej or 'none'}; flagged {rep['flagged']}")
    print(f"pack report: {out / 'pack_report.json'}")
    return 0


def _add_audioset(subparsers) -> None:
    """``neuralogram data audioset``: download the metadata and clips, then pack them."""
    p = subparsers.add_parser(
        "audioset", help="download AudioSet (metadata + clips) and pack it at 8 kHz",
        description="Download the AudioSet balanced subset (balanced_train + eval segments) from YouTube "
                    "(yt-dlp), the Hugging Face mirror agkphysics/AudioSet, or a local folder, then pack it "
                    "into one 8 kHz HDF5 store with 527-dim multi-hot labels. Resumable: run it again to "
                    "continue; missing and failed clips are counted in OUT/download_report.json.")
    p.add_argument("--source", choices=["youtube", "huggingface", "local"], required=True)
    p.add_argument("--subset", choices=["balanced"], default="balanced")
    p.add_argument("--out", required=True, help="output folder (metadata/, audio/, reports, the packed store)")
    p.add_argument("--workers", type=int, default=4, help="parallel downloads / decoders (default 4)")
    p.add_argument("--limit", type=int, default=None, help="only the first N segments of each list")
    p.add_argument("--local-dir", default=None, help="with --source local: folder of audio files named by YTID")
    p.add_argument("--metadata-dir", default=None,
                   help="copy the metadata from this folder instead of downloading it (hashes still checked)")
    p.add_argument("--skip-download", action="store_true", help="only pack what is already on disk")
    p.add_argument("--no-pack", action="store_true", help="download only")
    p.add_argument("--silence-db", type=float, default=-60.0, help="reject clips whose peak is below this")
    p.set_defaults(func=_audioset, prog=p.prog)

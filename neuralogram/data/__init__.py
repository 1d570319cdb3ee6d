"""Corpora (chapter 4): the packed on-disk format (:mod:`.store`), AudioSet (:mod:`.audioset`), the offline
stand-in corpus (:mod:`.standin`) and the spoken words of the semantics probe (:mod:`.speech_commands`).

Book: ``book/04_data.ipynb``.
"""

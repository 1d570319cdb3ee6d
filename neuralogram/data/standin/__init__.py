"""The offline stand-in corpus: synthesised classes (:mod:`.synth`), MIDI through the SoundFont (:mod:`.soundfont`),
espeak-ng speech (:mod:`.speech`) and the generator that mixes and packs them (:mod:`.corpus`).

Book: ``book/04_data.ipynb``.
"""

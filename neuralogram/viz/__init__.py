"""Figures and widgets: :mod:`.plotting` (spectrograms, neuralograms), :mod:`.live` (what every widget shares,
the one model cache), and the widgets of each book part: :mod:`.signal_widgets` (Part I), :mod:`.transform_widgets`
(Part III), :mod:`.probe_widgets` (Part IV). Nothing in the core imports this package.

Book: every chapter.
"""

"""DeepComposer, local: Bach chorales as four-voice grids, a masked-inpainting model and a GAN,
melodies harmonised, rewritten or extended, rendered to MIDI, WAV and a piano roll."""

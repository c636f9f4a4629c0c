"""Training: needs the ``train`` extra (torch, torchvision). The runtime never imports it."""

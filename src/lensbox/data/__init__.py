"""Dataset readers and validation. Imports no torch."""

from lensbox.data.imagefolder import DatasetReport, FileProblem, scan_imagefolder
from lensbox.data.images import IMAGE_EXTENSIONS, load_rgb

__all__ = ["IMAGE_EXTENSIONS", "DatasetReport", "FileProblem", "load_rgb", "scan_imagefolder"]

"""Classical cosmic-ray maskers, the baselines the learned masks are measured against.

* :func:`sdss_cosmics` -- the SDSS method as the DESI spectroscopic pipeline runs it (neighbour
  tests against the PSF, growth passes, 3 x 3 dilation), in vectorised numpy;
* :func:`lacosmic_mask` -- LA Cosmic (van Dokkum 2001) through ``astroscrappy`` (the
  ``baselines`` extra).
"""

from cosmicbook.baselines.lacosmic import lacosmic_mask
from cosmicbook.baselines.sdss import DESI_PSF_GRADIENTS, SDSS_AXES, sdss_cosmics

__all__ = ["DESI_PSF_GRADIENTS", "SDSS_AXES", "lacosmic_mask", "sdss_cosmics"]

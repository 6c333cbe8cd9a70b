"""What Sunaba adds to a learner's own Jupyter server (loaded as server extensions from the
portable copy, `sunaba_portable.labserver`): only jupyter_server, tornado and the standard
library are imported here."""

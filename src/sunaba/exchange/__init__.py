"""The assignment exchange's storage (`store`) and the nbgrader plugins learners' servers use to
fetch and submit through it (copied there as `sunaba_portable.exchange`). Imports only config
and core."""

"""The site's shared basics: where state and courses live, dates as staff read them, assignment
archives, the client of the hub's REST API. Every area may import these modules; they import no area, only `sunaba.config`, the
standard library and third-party packages, so no two areas need each other for them.

`archive` and `jadate` also run inside learners' servers (copied as `sunaba_portable.core`, see
`sunaba.exchange.learner_files`): they stay standard library only, and so does this file.
"""

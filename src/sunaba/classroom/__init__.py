"""The courses set up on the hub: `sunaba courses sync` (grader accounts, course directories,
released assignments, formgraders), the hub hooks that run the exchange service and each
course's formgrader, and the `sunaba courses` commands. It composes the areas below it: the
course files and records (`sunaba.courses`), the exchange and grading."""

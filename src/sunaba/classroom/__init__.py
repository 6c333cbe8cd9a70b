"""The courses on a running hub: `sunaba courses sync` (grader accounts, course directories,
released assignments, formgraders), the hub hooks that start each course's formgrader, and the
exchange service (`service`: the API the nbgrader plugins and formgraders call, the course
pages). It composes the areas below it: the course files and records (`sunaba.courses`), the
exchange's store and plugins (`sunaba.exchange`) and grading."""

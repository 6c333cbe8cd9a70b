"""Grading a course assignment: collect, sandboxed autograde (local sandboxes or Kubernetes pods,
`backends`), verdicts from the judge, feedback and exports."""

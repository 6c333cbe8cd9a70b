"""Accounts: roster import (`sunaba users import`)."""

from sunaba.users.roster import Roster, RosterEntry, RosterProblem, read_roster

__all__ = ["Roster", "RosterEntry", "RosterProblem", "read_roster"]

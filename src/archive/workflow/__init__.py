"""The procedures as data (workflows/*.yaml) and the engine that applies them.

``procedure_from_settings`` is the one place the web app, the CLI and the demo build it.
"""
from __future__ import annotations

import pathlib

from .definition import WorkflowError, Workflows, default_directory
from .effects import Effects
from .engine import (NotPermitted, Procedure, TransitionRefused, UnknownTransition, WorkItem,
                     WrongState)

__all__ = ["Procedure", "Workflows", "WorkflowError", "TransitionRefused", "NotPermitted",
           "UnknownTransition", "WorkItem", "WrongState", "procedure_from_settings", "build"]


def build(schemas, roles, directory=None, zone="Asia/Shanghai") -> Procedure:
    """Compile the workflows and profiles (stopping on any error) into a Procedure."""
    workflows = Workflows(pathlib.Path(directory or default_directory()), schemas, roles,
                          effects=Effects.INPUTS)
    return Procedure(workflows, schemas, zone)


def procedure_from_settings(settings, schemas, roles) -> Procedure:
    return build(schemas, roles, settings.get("archive.workflows_dir"),
                 settings.get("archive.timezone") or "Asia/Shanghai")

"""The package list, which setup.cfg cannot spell: every minirq package found on disk,
plus the folder dashboard/ installed under the name minirq_dashboard (see setup.cfg)."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["minirq", "minirq.*"]), "minirq_dashboard"])

"""HTTP doubles of User Service and Mail Service for the boundary suites.

A stub speaks its service's published contract from memory and adds a control
API under ``/_control/`` (recorded requests, scripted responses, outages,
seeding); see README.md beside this file.
"""

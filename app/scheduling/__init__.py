"""Scheduling: appointments, their forms and pages."""

"""Scheduling pages: appointments (the book's CRUD), the calendar, and iCalendar import/export."""

"""Email: building messages, the Sender interface (SMTP or a folder) and reliable delivery."""

"""The auth function: signup and login with bcrypt, our own tokens, and who the caller is."""

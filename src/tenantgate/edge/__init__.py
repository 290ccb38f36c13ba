"""What every HTTP surface needs from the request's edge: who is calling, and through which
proxies."""

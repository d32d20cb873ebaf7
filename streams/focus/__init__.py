"""focus"""

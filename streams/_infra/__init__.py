"""_infra"""

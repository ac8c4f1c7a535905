"""The offline engine (Pulumi's mock runtime, recorded) and what is built on it."""

"""Demo data (演示数据): a realistic, deterministic archive for demonstrations and tests."""

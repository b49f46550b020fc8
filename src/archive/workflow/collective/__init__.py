"""单位集体申请 (厦门 seed 002): batch plans, employers' applications and their quotas."""

//! regimebench: how the fine-tuning regime changes which continual-learning method wins.

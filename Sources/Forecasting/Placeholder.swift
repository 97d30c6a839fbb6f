public enum Forecasting {}

// The dashboard's series colours, one per kind of traffic, the same on every chart.


export const colors = { user: "#6d5dfc", ai: "#1f9d8b", prompt: "#3b82f6", completion: "#e08a1e", failed: "#e4577a" };

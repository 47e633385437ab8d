class SensitivityAnalysis: pass
def sensitivity_analysis(): pass

"""Models with assumptions as data: the GPU rental break-even (`gpu_economics`).
"""

"""Picture quality of decoded video against its source, for the benchmark and the tests."""
import cv2
import numpy as np


def ssim(first, second):
    """Mean SSIM of two BGR images on their luma (Wang et al. 2004, 11x11 Gaussian, sigma 1.5)."""
    a = cv2.cvtColor(first, cv2.COLOR_BGR2GRAY).astype(np.float64)
    b = cv2.cvtColor(second, cv2.COLOR_BGR2GRAY).astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(img):
        return cv2.GaussianBlur(img, (11, 11), 1.5)
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    value = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return float(value.mean())

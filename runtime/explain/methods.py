"""The attribution methods by name, without torch: the CLI's choices and the window's menu read them here."""

from __future__ import annotations

METHODS = ("saliency", "integrated_gradients", "gradcam", "occlusion")
METHOD_TITLES = {"saliency": "Saliency", "integrated_gradients": "Integrated Gradients", "gradcam": "Grad-CAM",
                 "occlusion": "Occlusion"}

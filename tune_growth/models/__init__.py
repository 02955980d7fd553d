"""Models: the registry of model records and its one factory (registry.py), the shared building
blocks, the small nets (small.py), the torchvision and fastai ResNets, layer groups (what a stage
freezes and gives an LR multiplier) and pretrained weights. Imports torch and torchvision only;
nothing from the rest of tune_growth."""

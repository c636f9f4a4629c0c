"""Racer: AWS DeepRacer's loop, local. A user's ``reward_function(params)`` with DeepRacer's
contract, a simulated 1/18 car with a front camera on DeepRacer's own tracks, and (with the
train extra) reinforcement learning that ends in a ``drive`` model package.

The track, car, camera, simulator and reward modules need numpy and OpenCV only, so a device
can run a simulated car as a frame source; training lives in ``lensbox.racer.train``.
"""

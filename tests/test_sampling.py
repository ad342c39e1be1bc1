import pytest
import torch

from gridlib.sampling import fresh_scheduler, generate, initial_noise, sample_to_timestep, sample_to_timesteps


def test_same_seeds_same_images_other_seeds_other_images(tiny):
    a = generate(tiny, ["a red circle", "a painting by Van Gogh"], [5000, 5001], steps=3, progress=False)
    b = generate(tiny, ["a red circle", "a painting by Van Gogh"], [5000, 5001], steps=3, progress=False)
    c = generate(tiny, ["a red circle", "a painting by Van Gogh"], [5002, 5003], steps=3, progress=False)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == (2, 3, 32, 32) and a.dtype == torch.float32


def test_batching_does_not_change_images(tiny):
    prompts, seeds = ["a red circle"] * 3, [1, 2, 3]
    together = generate(tiny, prompts, seeds, steps=3, batch_size=3, progress=False)
    apart = generate(tiny, prompts, seeds, steps=3, batch_size=1, progress=False)
    assert torch.allclose(together, apart, atol=1e-5)


def test_partial_sampling_stops_at_the_requested_timestep(tiny):
    concept, empty = tiny.encode_prompts(["a red circle"]), tiny.encode_prompts([""])
    noise = initial_noise(tiny, [0])
    x_t, t = sample_to_timestep(tiny, noise, concept, empty, steps=10, stop_index=0, guidance=3.0)
    assert torch.equal(x_t, noise) and int(t) == int(fresh_scheduler(tiny, 10).timesteps[0])
    x_t, t = sample_to_timestep(tiny, noise, concept, empty, steps=10, stop_index=6, guidance=3.0)
    assert not torch.equal(x_t, noise) and int(t) == int(fresh_scheduler(tiny, 10).timesteps[6])


def test_bad_sampling_arguments_are_refused(tiny):
    concept, empty, noise = tiny.encode_prompts(["x"]), tiny.encode_prompts([""]), initial_noise(tiny, [0])
    with pytest.raises(ValueError, match=r"stop_index must be in \[0, 10\), got 10"):
        sample_to_timestep(tiny, noise, concept, empty, steps=10, stop_index=10, guidance=3.0)
    with pytest.raises(ValueError, match="steps must be a positive integer, got 0"):
        generate(tiny, ["x"], [0], steps=0, progress=False)
    with pytest.raises(ValueError, match="need one seed per prompt"):
        generate(tiny, ["x", "y"], [0], steps=2, progress=False)


def test_each_example_of_a_batch_stops_at_its_own_step(tiny):
    """One batched run equals each example sampled on its own; finished examples leave the batch."""
    concept = tiny.encode_prompts(["a red circle", "a blue square", "a painting by Van Gogh"])
    empty, noise, stops = tiny.encode_prompts([""]), initial_noise(tiny, [0, 1, 2]), [4, 0, 2]
    batches = []
    hook = tiny.unet.register_forward_pre_hook(lambda _, args: batches.append(len(args[0])))
    x_t, t = sample_to_timesteps(tiny, noise, concept, empty, steps=6, stops=stops, guidance=3.0)
    hook.remove()
    assert batches == [4, 4, 2, 2]  # guided: two rows per running example; the stop-0 example never runs
    for i, stop in enumerate(stops):
        alone, t_alone = sample_to_timestep(tiny, noise[i : i + 1], concept[i : i + 1], empty, steps=6, stop_index=stop, guidance=3.0)
        assert torch.allclose(x_t[i : i + 1], alone, atol=1e-5) and int(t[i]) == int(t_alone)
    with pytest.raises(ValueError, match=r"stop_index must be in \[0, 6\), got 6"):
        sample_to_timesteps(tiny, noise, concept, empty, steps=6, stops=[0, 6, 1], guidance=3.0)

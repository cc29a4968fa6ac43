"""Every classic mistake, written into a copy of the answer key, is caught with its own hint.

Each row is (task, edits of the answer key's source, words the hint must contain): the
edit is the mistake as a student writes it, the words name that mistake.
"""

from __future__ import annotations

import pytest

from tinyae.workbook import PARTS, check_task, load_workbook, render


def mistake(task_id, edits, words, id):
    """One row: ``edits`` is one (old, new) pair or a list of them."""
    return pytest.param(task_id, edits if isinstance(edits, list) else [edits], words, id=id)


MISTAKES = [
    # 1. Dense
    mistake("1.1", ("return x @ self.W + self.b", "return x @ self.W"), ["bias is missing"],
            id="forward without the bias"),
    mistake("1.2", ("self.db += dout.sum(axis=0)", "self.db += dout.mean(axis=0)"),
            ["db", "averaged over the batch", "1/N"], id="db averaged over the batch"),
    mistake("1.2", ("self.dW += self.x.T @ dout", "self.dW += self.x.T @ dout / len(dout)"),
            ["dW", "averaged over the batch", "1/N"], id="dW averaged over the batch"),
    mistake("1.2", ("self.dW += self.x.T @ dout", "self.dW += dout.T @ self.x"),
            ["dW", "transpose"], id="dW transposed"),
    mistake("1.2", ("self.db += dout.sum(axis=0)", "self.db = dout.sum(axis=1)"),
            ["db has shape (5,)", "must have shape (4,)"], id="db of the wrong shape"),
    mistake("1.2", ("return dout @ self.W.T", "return dout @ self.W"),
            ["dx = dout @ W", "transpose is missing"], id="dx without the transpose"),
    mistake("1.2", ("self.dW += self.x.T @ dout", "self.dW = self.x.T @ dout"),
            ["overwrote dW", "+="], id="dW rebound instead of accumulated"),
    mistake("1.2", ("self.x = x  #", "self.input = x  #"), ["AttributeError", "line", "self.x"],
            id="a crash names the exception and the line"),
    # 2. Activations
    mistake("2.1", [("        self.p = np.where", "        self.x = x\n        self.p = np.where"),
                    ("return dout * self.p * (1 - self.p)", "return dout * self.x * (1 - self.x)")],
            ["from the input", "p (1 − p)"], id="sigmoid derivative from the input"),
    mistake("2.1", ("self.p = np.where(x >= 0, 1 / (1 + e), e / (1 + e))",
                    "self.p = np.exp(x) / (1 + np.exp(x))"), ["overflow"], id="sigmoid overflows"),
    mistake("2.2", ("return dout * self.mask", "dout *= self.mask\n        return dout"),
            ["modified dout in place"], id="dout written in place"),
    mistake("2.2", ("return np.maximum(x, 0)", "return np.maximum(x, 0, out=x)"),
            ["ReLU.forward changed its input x in place"], id="x written in place"),
    mistake("2.2", ("self.mask = x > 0", "ReLU.mask = x > 0"),
            ["mask of another ReLU", "wrong layer's cache"], id="ReLU mask of the wrong layer"),
    mistake("2.2", ("return dout * self.mask", "return dout * (dout > 0)"),
            ["mask from dout"], id="ReLU mask from dout"),
    mistake("2.3", [("self.out = np.tanh(x)", "self.x, self.out = x, np.tanh(x)"),
                    ("return dout * (1 - self.out**2)", "return dout * (1 - self.x**2)")],
            ["from the input", "1 − out²"], id="tanh derivative from the input"),
    mistake("2.4", ("e = np.exp(x - x.max(axis=1, keepdims=True))", "e = np.exp(x)"),
            ["overflow"], id="softmax without the max shift"),
    mistake("2.4", ("self.out = e / e.sum(axis=1, keepdims=True)",
                    "self.out = e / e.sum(axis=0, keepdims=True)"),
            ["do not sum to 1", "axis=0"], id="softmax over the wrong axis"),
    mistake("2.5", ("return self.out * (dout - dot)", "return dout * self.out * (1 - self.out)"),
            ["only the diagonal"], id="softmax backward with the diagonal only"),
    # 3. Losses
    mistake("3.1", ("return 2 * (self.p - self.y) / self.p.size",
                    "return 2 * (self.y - self.p) / self.p.size"), ["wrong sign"], id="sign flip"),
    mistake("3.1", ("return 2 * (self.p - self.y) / self.p.size",
                    "return (self.p - self.y) / self.p.size"), ["factor 2 is missing"],
            id="MSE without its factor 2"),
    mistake("3.1", ("return 2 * (self.p - self.y) / self.p.size",
                    "return 2 * (self.p - self.y) / self.p.shape[1]"), ["N = 5 times", "1/N"],
            id="MSE without its 1/N"),
    mistake("3.1", ("return 2 * (self.p - self.y) / self.p.size", "return 2 * (self.p - self.y)"),
            ["N·D = 20 times", "division by N·D is missing"], id="MSE gradient not divided"),
    mistake("3.1", ("return float(np.mean((p - y) ** 2))", "return float(np.sum((p - y) ** 2))"),
            ["L is N·D = 20 times"], id="MSE summed instead of averaged"),
    mistake("3.2", ("np.clip(p, self.eps, 1 - self.eps)", "p"), ["clip", "p is exactly 0 or 1"],
            id="BCE without clipping"),
    mistake("3.2", ("np.clip(p, self.eps, 1 - self.eps)",
                    "np.clip(p, self.eps, 1 - self.eps, out=p)"),
            ["changed its input p in place"], id="BCE clipping the caller's p in place"),
    mistake("3.2", ("(self.p * (1 - self.p)) / self.p.size",
                    "(self.p * (1 - self.p)) / len(self.p)"),
            ["wrong reduction", "D = 4 times"], id="BCE gradient of the wrong reduction"),
    mistake("3.2", ("(self.p - self.y) / (self.p * (1 - self.p)) / self.p.size",
                    "(self.p - self.y) / self.p.size"), ["with respect to the logit"],
            id="BCE gradient of the logit"),
    mistake("3.3", ("np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))",
                    "np.log(1 + np.exp(z)) - z * y"), ["overflow"], id="BCE on logits overflows"),
    mistake("3.3", ("return (p - self.y) / self.z.size",
                    "return (p - self.y) * p * (1 - p) / self.z.size"),
            ["sigmoid's derivative"], id="BCE on logits keeps σ'"),
    # 4. Optimizers
    mistake("4.1", ("self.v = self.momentum * self.v + grads",
                    "self.v = self.momentum * self.v + (1 - self.momentum) * grads"),
            ["wrong velocity convention", "v ← μ·v + g"], id="momentum as an average"),
    mistake("4.1", [("self.v = self.momentum * self.v + grads",
                     "self.v = self.momentum * self.v - self.lr * grads"),
                    ("params -= self.lr * self.v", "params += self.v")],
            ["wrong velocity convention", "lr is folded into the velocity"],
            id="momentum with lr in the velocity"),
    mistake("4.1", ("params -= self.lr * self.v", "params = params - self.lr * self.v"),
            ["in place"], id="params rebound instead of updated in place"),
    mistake("4.2", [("m_hat = self.m / (1 - self.beta1**self.t)", "m_hat = self.m"),
                    ("v_hat = self.v / (1 - self.beta2**self.t)", "v_hat = self.v")],
            ["without bias correction"], id="Adam without bias correction"),
    mistake("4.2", ("np.sqrt(v_hat) + self.eps", "np.sqrt(v_hat + self.eps)"),
            ["inside the square root"], id="Adam with eps inside the root"),
    mistake("4.2", [("        self.t += 1\n", ""),
                    ("self.eps)\n", "self.eps)\n        self.t += 1\n")],
            ["step count started at 0", "t = 1"], id="Adam counting steps from 0"),
    # 5. VAE
    mistake("5.1", ("np.exp(0.5 * log_var), eps", "np.exp(log_var), eps"), ["variance"],
            id="std = exp(log_var)"),
    mistake("5.1", ("return dz, dz * self.eps * 0.5 * self.std",
                    "return dz, dz * self.eps * self.std"),
            ["dlog_var", "½ is missing"], id="reparameterisation gradient without the ½"),
    mistake("5.2", ("return self.mu / N, 0.5 * (np.exp(self.log_var) - 1) / N",
                    "return self.mu / N, (np.exp(self.log_var) - 1) / N"),
            ["dlog_var", "½ is missing"], id="KL gradient without the ½ on log_var"),
    mistake("5.2", ("np.exp(log_var)) / len(mu))", "np.exp(log_var)))"),
            ["N = 5 times", "division by N"], id="KL not divided by N"),
]


@pytest.fixture(scope="module")
def answer_key():
    return render(PARTS, solved=True)


@pytest.mark.parametrize("task_id, edits, words", MISTAKES)
def test_each_classic_mistake_gets_its_own_hint(answer_key, tmp_path, task_id, edits, words):
    source = answer_key
    for old, new in edits:
        assert source.count(old) == 1, f"the answer key no longer holds {old!r} exactly once"
        source = source.replace(old, new)
    (tmp_path / "workbook.py").write_text(source, encoding="utf-8")
    result = check_task(task_id, namespace=load_workbook(tmp_path))
    assert not result.passed and result.points == 0
    missing = [word for word in words if word not in result.hint]
    assert not missing, f"hint lacks {missing}: {result.hint}"


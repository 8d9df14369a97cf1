/** The micro world of the PPO-ptx unit tests: a 320-token BPE, nine prompts, a one-layer model, small settings. */
import { BpeTokenizer } from '../../src/lib/data/bpeTokenizer';
import { encodeDocuments } from '../../src/lib/data/corpus';
import { generateCorpus, generatePrompts } from '../../src/lib/data/world';
import type { ModelConfig } from '../../src/lib/model/config';
import type { PpoSettings } from '../../src/lib/rlhf/ppo';

const docs = generateCorpus({ seed: 4, documents: 60 }).map((d) => d.text);
export const tokenizer = BpeTokenizer.train(docs.join('\n\n'), 320);
export const pretrainTokens = encodeDocuments(tokenizer, docs);
export const prompts = generatePrompts(9, 12);
export const cfg: ModelConfig = { vocabSize: tokenizer.vocabSize, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 16 };
export const small: Partial<PpoSettings> = {
  batch_size: 4,
  mini_batch_size: 2,
  num_ppo_epochs: 2,
  response_length: 6,
  learning_rate: 3e-3,
  seed: 5,
};

# torchinfo's fixture models (https://github.com/TylerYep/torchinfo), MIT License: see LICENSE.

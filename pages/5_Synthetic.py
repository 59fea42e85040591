import streamlit as st

from ui import open_workspace, require_dataset

st.title("Synthetic".replace("_", " "))
ws = open_workspace()
frame = require_dataset(ws)
st.info("This step is being built.")
